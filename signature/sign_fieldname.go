package signature

import (
	"fmt"
	"io"
	"strconv"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// NextFieldName returns the name Sign gives the new signature field of
// the PDF in (size bytes) when SignOptions.Field is empty: "Signature<n>"
// with the lowest n no top-level form field uses. A tool that reports
// which field it signed calls it first and passes the name as Field.
// The errors are Sign's: ErrUnsupportedDocument when in is not a PDF that
// can take an incremental update.
func NextFieldName(in io.ReaderAt, size int64) (string, error) {
	u, err := swOpen(in, size)
	if err != nil {
		return "", err
	}
	cat, err := u.f.Catalog(u.last)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnsupportedDocument, err)
	}
	names := map[string]bool{}
	acro, _ := u.object(cat["AcroForm"])
	if d, ok := acro.(pdf.Dict); ok {
		fields, _ := u.object(d["Fields"])
		a, _ := fields.(pdf.Array)
		if len(a) > swMaxFields {
			return "", fmt.Errorf("%w: more than %d form fields", ErrUnsupportedDocument, swMaxFields)
		}
		for _, fo := range a {
			if fd, ok := mustObject(u, fo).(pdf.Dict); ok {
				names[swDecodeText(fd["T"])] = true
			}
		}
	}
	for n := 1; ; n++ {
		if name := "Signature" + strconv.Itoa(n); !names[name] {
			return name, nil
		}
	}
}

func mustObject(u *swUpdate, o pdf.Object) pdf.Object {
	v, err := u.object(o)
	if err != nil {
		return nil
	}
	return v
}
