package secret_test

import (
	"fmt"
	"strings"

	"github.com/callscope/callscope/internal/secret"
)

// A store seals a credential before writing it and opens it after reading
// it; a value written in the clear by an earlier version opens as it is
// and is reported for resealing.
func Example() {
	keys, err := secret.Parse("ZGV2ZWxvcG1lbnQta2V5LW9mLTMyLWJ5dGVzLWxvbmc=")
	if err != nil {
		panic(err)
	}
	stored, _ := keys.Seal("Bearer crm-token")
	fmt.Println(secret.IsSealed(stored), strings.Contains(stored, "crm-token"))

	plain, _ := keys.Open(stored)
	fmt.Println(plain)

	legacy := "Bearer written-in-the-clear"
	fmt.Println(keys.NeedsReseal(legacy), keys.NeedsReseal(stored))
	resealed, _ := keys.Reseal(legacy)
	fmt.Println(secret.IsSealed(resealed))
	// Output:
	// true false
	// Bearer crm-token
	// true false
	// true
}

// Rotation: with keys "NEW,OLD" values sealed with OLD still open, and
// Reseal seals them with NEW.
func Example_rotation() {
	oldKey, newKey := secret.GenerateKey(), secret.GenerateKey()
	before, _ := secret.New(oldKey)
	stored, _ := before.Seal("client-secret")

	after, _ := secret.New(newKey, oldKey)
	plain, _ := after.Open(stored)
	fmt.Println(plain, after.NeedsReseal(stored))
	stored, _ = after.Reseal(stored)
	fmt.Println(after.NeedsReseal(stored))

	_, err := before.Open(stored)
	fmt.Println(err != nil)
	// Output:
	// client-secret true
	// false
	// true
}
