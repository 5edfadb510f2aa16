// STS: see Package.swift
