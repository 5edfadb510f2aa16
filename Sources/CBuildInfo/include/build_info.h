// What `latchkey --version` prints, fixed when latchkey is built.
//
// Why a C module: SwiftPM can give a C target a define with a value
// (`cSettings: .define(NAME, to: VALUE)`), which Swift targets cannot
// have; Package.swift computes the values (see there).
#ifndef LATCHKEY_BUILD_INFO_H
#define LATCHKEY_BUILD_INFO_H

/// The package version, e.g. "0.4.0".
const char *latchkey_build_version(void);
/// The git revision the binary was built from, or "unknown".
const char *latchkey_build_revision(void);

#endif
