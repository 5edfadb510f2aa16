// Placeholder so the target builds; the CCID slot (framing, bSeq, time
// extension, power on/off) is being written on branch helper-ccid.
