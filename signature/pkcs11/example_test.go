//go:build cgo

package pkcs11_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/signature/pkcs11"
)

// An embedder signs a contract with a key that stays in its HSM, before
// handing the signed PDF to casework's Register or Return. (No output is
// checked: the example needs a token; TestSignWithTokenKeys runs the same
// steps against SoftHSM2.)
func Example() {
	pin, err := pkcs11.ReadPIN("", "KEIYAKU_HSM_PIN") // or a PIN file; never a flag
	if err != nil {
		log.Fatal(err)
	}
	key, err := pkcs11.Open(pkcs11.Config{
		Module:     "/usr/lib/softhsm/libsofthsm2.so",
		TokenLabel: "company-a", KeyLabel: "contract-signing", PIN: pin,
		ChainLabels: []string{"issuing-ca"}, // the certificate comes from the token too
	})
	if err != nil {
		log.Fatal(err)
	}
	defer key.Close()
	doc := []byte("%PDF-1.7 ...") // the contract
	var signed bytes.Buffer
	err = signature.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), &signed, &signature.SignOptions{
		Signer: key, Certificate: key.Certificate, Chain: key.Chain, Field: "Registrant",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(signed.Len() > len(doc))
	// svc.Cases.Register(ctx, p, &casework.NewCase{..., Document: casework.Upload{Name: "contract.pdf", Body: &signed}})
}
