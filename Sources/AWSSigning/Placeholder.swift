// AWSSigning: see Package.swift
