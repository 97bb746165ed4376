package archive_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// TestPDFRenewalDueAndRecord: a sealed PDF is not due years before its
// TSA expires and is due within the margin; after RenewPDF appended to
// it, the evidence record made over the sealed bytes still proves the
// file as sealed (VerifyPDFRecord checks the prefix ending at the older
// document timestamp), not the whole file alone; a byte flipped in the
// sealed part fails it.
func TestPDFRenewalDueAndRecord(t *testing.T) {
	p := testpki.New(t)
	ctx := context.Background()
	sealer := newService(t, p, p.TSA, testpki.Now, nil)
	sealed := seal(t, sealer, signedContract(t, p, signature.LevelBT))
	record, err := sealer.SealFile(ctx, bytes.NewReader(sealed))
	if err != nil {
		t.Fatal(err)
	}
	year := 365 * 24 * time.Hour
	due, fullRep, err := sealer.PDFRenewalDue(ctx, bytes.NewReader(sealed), int64(len(sealed)), year)
	if err != nil || due || fullRep != nil {
		t.Fatalf("2026: due %v, %v, report %v; want not due from the newest token alone", due, err, fullRep != nil)
	}
	// Bytes after the newest document timestamp: the tail is not a seal,
	// so the whole file is validated (and the seal's TSA decides).
	junk := append(bytes.Clone(sealed), "\n% appended\n"...)
	if due, fullRep, err := sealer.PDFRenewalDue(ctx, bytes.NewReader(junk), int64(len(junk)), year); err != nil || due || fullRep == nil {
		t.Fatalf("2026, bytes appended: due %v, %v, report %v; want not due from full validation", due, err, fullRep != nil)
	}
	renewAt := testpki.TSANotAfter.AddDate(0, -6, 0)
	p.SetNow(renewAt)
	renewer := newService(t, p, p.TSA2, renewAt, nil)
	due, _, err = renewer.PDFRenewalDue(ctx, bytes.NewReader(sealed), int64(len(sealed)), year)
	if err != nil || !due {
		t.Fatalf("half a year before the TSA expires: due %v, %v; want due", due, err)
	}
	if _, _, err := renewer.PDFRenewalDue(ctx, nil, 1, year); err == nil {
		t.Fatal("a nil reader is not an error")
	}
	var out bytes.Buffer
	if err := renewer.RenewPDF(ctx, bytes.NewReader(sealed), int64(len(sealed)), &out); err != nil {
		t.Fatal(err)
	}
	renewed := out.Bytes()
	due, _, err = renewer.PDFRenewalDue(ctx, bytes.NewReader(renewed), int64(len(renewed)), year)
	if err != nil || due {
		t.Fatalf("after renewal: due %v, %v; want not due", due, err)
	}
	rep := verifyPDF(t, renewer, renewed, renewAt).Report
	v, err := renewer.VerifyPDFRecord(ctx, bytes.NewReader(renewed), int64(len(renewed)), rep, record, nil)
	if err != nil || !v.Original {
		t.Fatalf("the record on the renewed PDF: %v %+v", err, v)
	}
	if v, err := renewer.VerifyPDFRecord(ctx, bytes.NewReader(renewed), int64(len(renewed)), nil, record, nil); err != nil || v.Original || !v.Failed {
		t.Fatalf("the record against the whole renewed file: %v original %v failed %v; want FAILED", err, v.Original, v.Failed)
	}
	flipped := bytes.Clone(renewed)
	flipped[len(sealed)/2] ^= 1
	if v, err := renewer.VerifyPDFRecord(ctx, bytes.NewReader(flipped), int64(len(flipped)), rep, record, nil); err != nil || v.Original || !v.Failed {
		t.Fatalf("a byte flipped in the sealed part: %v original %v failed %v; want FAILED", err, v.Original, v.Failed)
	}
}
