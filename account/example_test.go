package account_test

import (
	"fmt"

	"github.com/keiyaku/keiyaku/account"
)

func ExampleParseHash() {
	h, err := account.ParseHash("$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo")
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Params.MemoryKiB, h.Params.Time, h.Params.Threads)
	fmt.Println(h.Verify("password"), h.Verify("Password"))
	// Output:
	// 65536 2 4
	// true false
}
