// The suites of this target are being written; this file keeps it buildable.
