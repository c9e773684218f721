package rbac_test

import (
	"fmt"

	"github.com/ongoingai/gateway/internal/rbac"
)

func Example() {
	a, err := rbac.New()
	if err != nil {
		panic(err)
	}
	// The tenancy key cache reports every key on each reload.
	_ = a.ReplaceAll([]rbac.Subject{
		{KeyID: "k-owner", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleOwner},
		{KeyID: "k-ci", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleViewer, Permissions: []string{rbac.PermProxyWrite}},
	})

	fmt.Println(a.Allow("k-owner", "acme", "staging", "keys", "manage")) // every workspace of its org
	fmt.Println(a.Allow("k-owner", "globex", "prod", "proxy", "write"))  // never another org
	fmt.Println(a.Allow("k-ci", "acme", "prod", "proxy", "write"))       // extra permission, own workspace
	fmt.Println(a.Allow("k-ci", "acme", "staging", "proxy", "write"))    // ...and nowhere else

	a.Remove("k-ci")
	fmt.Println(a.Allow("k-ci", "acme", "prod", "analytics", "read"))
	// Output:
	// true
	// false
	// true
	// false
	// false
}

func ExampleCanGrant() {
	fmt.Println(rbac.CanGrant(rbac.RoleAdmin, rbac.RoleDeveloper))
	fmt.Println(rbac.CanGrant(rbac.RoleDeveloper, rbac.RoleMember))
	fmt.Println(rbac.CanGrant(rbac.RoleAdmin, rbac.RoleOwner))
	// Output:
	// true
	// true
	// false
}
