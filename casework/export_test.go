package casework

// ReadAsExcel is readAsExcel for the external tests.
var ReadAsExcel = readAsExcel
