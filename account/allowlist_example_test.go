package account_test

import (
	"fmt"

	"github.com/keiyaku/keiyaku/account"
)

func ExampleParseAllowList() {
	list, err := account.ParseAllowList([]string{"192.0.2.77/24", "2001:db8::1", " 198.51.100.0/24 "})
	fmt.Println(list, err)
	_, err = account.ParseAllowList([]string{"192.0.2.0/33"})
	fmt.Println(err != nil)
	// Output:
	// [192.0.2.0/24 2001:db8::1/128 198.51.100.0/24] <nil>
	// true
}
