// Shared test helpers live here (see Package.swift).
public enum TestSupport {}
