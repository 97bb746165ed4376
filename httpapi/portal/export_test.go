package portal

// Exported for the tests of package portal_test.
var (
	ParseRegisterForm = parseRegisterForm
	ParseSearch       = parseSearch
	ParseCertificate  = parseCertificateFile
)
