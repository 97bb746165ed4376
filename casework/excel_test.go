package casework

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// readAsExcel reads b the way Excel in Japanese opens a .csv file: UTF-8
// if it starts with the UTF-8 byte order mark, otherwise the system code
// page, Shift_JIS (CP932); records end in CRLF (RFC 4180 §2), and quoted
// fields may hold commas, quotes and line breaks. It returns the records
// and which encoding it detected, or an error where Excel would show
// garbage: a line not ended by CRLF, UTF-8 that is not valid, bytes that
// are not Shift_JIS.
func readAsExcel(b []byte) (records [][]string, enc string, err error) {
	if rest, ok := bytes.CutPrefix(b, []byte{0xEF, 0xBB, 0xBF}); ok {
		b, enc = rest, "utf-8-bom"
		if !utf8.Valid(b) {
			return nil, enc, fmt.Errorf("marked UTF-8 but not valid UTF-8")
		}
	} else {
		enc = "shift_jis"
		d, err := japanese.ShiftJIS.NewDecoder().Bytes(b)
		if err != nil {
			return nil, enc, fmt.Errorf("not Shift_JIS: %v", err)
		}
		if bytes.ContainsRune(d, utf8.RuneError) {
			return nil, enc, fmt.Errorf("bytes Shift_JIS does not define")
		}
		b = d
	}
	if len(b) > 0 && !bytes.HasSuffix(b, []byte("\r\n")) {
		return nil, enc, fmt.Errorf("the last record does not end in CRLF")
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	for {
		off := r.InputOffset()
		rec, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return records, enc, nil
			}
			return nil, enc, err
		}
		// Every record's line end is CRLF; a bare LF outside quotes
		// would be one record to csv.Reader and to Excel.
		end := r.InputOffset()
		if end < 2 || b[end-2] != '\r' || b[end-1] != '\n' {
			return nil, enc, fmt.Errorf("record at byte %d does not end in CRLF", off)
		}
		records = append(records, rec)
	}
}
