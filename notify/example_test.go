package notify_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/keiyaku/keiyaku/notify"
)

func ExampleTemplates_Render() {
	tmpl, err := notify.DefaultTemplates()
	if err != nil {
		log.Fatal(err)
	}
	mail, err := tmpl.Render(&notify.Message{
		ID:          "ob-1",
		Type:        notify.EventReceiptRequested,
		CaseID:      "case-42",
		CaseName:    "業務委託契約書",
		OrderNumber: "PO-2026-001",
		From:        notify.Party{Company: "株式会社サンプル", User: "山田 太郎"},
		Recipient: notify.Recipient{
			Company:  "例示商事株式会社",
			Name:     "佐藤 花子",
			Email:    "hanako@example.jp",
			Language: notify.LanguageJapanese,
		},
		URL:       "https://keiyaku.example.jp/cases/case-42",
		CreatedAt: time.Date(2026, 11, 26, 8, 25, 0, 0, time.UTC),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("To:", mail.ToName, "<"+mail.To+">")
	fmt.Println("Subject:", mail.Subject)
	fmt.Println()
	fmt.Print(mail.Body)
	// Output:
	// To: 佐藤 花子 <hanako@example.jp>
	// Subject: 【keiyaku】契約書の受領依頼が届いています（業務委託契約書）
	//
	// 例示商事株式会社
	// 佐藤 花子 様
	//
	// いつもお世話になっております。
	// 株式会社サンプル 山田 太郎 様から、契約書の受領依頼が届いています。
	// 下記の案件をご確認のうえ、内容にご同意いただける場合は電子署名をして返送してください。
	//
	// ■ 案件名：業務委託契約書
	// ■ 発注番号：PO-2026-001
	// ■ 日時：2026年11月26日 17:25（日本時間）
	// ■ 案件URL：https://keiyaku.example.jp/cases/case-42
	//
	// ――――――――――――――――――――
	// 本メールは keiyaku から送信専用アドレスで自動送信しています。
	// このメールにご返信いただいてもお答えできませんので、ご了承ください。
	// お心当たりのない場合は、お手数ですが本メールを破棄してください。
}

func ExampleVerifySignature() {
	secret := []byte("an-example-secret-of-32-bytes-or-more")
	body := []byte(`{"id":"ob-1","type":"completed"}`)
	sentAt := time.Date(2026, 11, 26, 8, 25, 0, 0, time.UTC)

	header := notify.Sign(secret, sentAt, body) // what WebhookSender puts in X-Keiyaku-Signature
	fmt.Println(header[:13])

	// The receiver, a minute later.
	err := notify.VerifySignature(header, body, secret, sentAt.Add(time.Minute), 0)
	fmt.Println("fresh:", err)

	// The same request replayed an hour later.
	err = notify.VerifySignature(header, body, secret, sentAt.Add(time.Hour), 0)
	fmt.Println("replayed:", errors.Is(err, notify.ErrStaleSignature))

	// A tampered body.
	err = notify.VerifySignature(header, []byte(`{"id":"ob-1","type":"deleted"}`), secret, sentAt, 0)
	fmt.Println("tampered:", errors.Is(err, notify.ErrInvalidSignature))
	// Output:
	// t=1795681500,
	// fresh: <nil>
	// replayed: true
	// tampered: true
}
