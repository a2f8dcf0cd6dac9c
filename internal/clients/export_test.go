package clients

// VerifierForTest is verifier, for tests that forge rows.
var VerifierForTest = verifier
