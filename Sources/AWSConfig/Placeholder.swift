// AWSConfig: see Package.swift
