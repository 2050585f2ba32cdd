package sandbox

// Fixed ids of the demo org, so demos, docs and manifests can name them.
const (
	BusinessUnitID = "3a1f6c2e-8d4b-4e9a-b7c5-1d2e3f4a5b6c"
	// AppUserID is the application user that client-credentials tokens act as.
	AppUserID = "6e5d4c3b-2a19-4807-b6f5-e4d3c2b1a098"
	// SalesTeamID and SupportTeamID are owner teams with members.
	SalesTeamID   = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	SupportTeamID = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
)

// DemoUsers is the sandbox directory: one user per role, with accents and an
// apostrophe in names so escaping is exercised everywhere.
func DemoUsers() []User {
	return []User{
		{ID: "1f8b5a3e-2c4d-4e6f-8a0b-1c2d3e4f5a6b", ObjectID: "c0ffee00-1111-4a2b-8c3d-000000000001",
			Email: "chloe.dubois@demo.crmbot.dev", FirstName: "Chloé", LastName: "Dubois",
			Title: "Account Executive", Role: "sales", BusinessUnitID: BusinessUnitID},
		{ID: "2a9c6b4f-3d5e-4f70-9b1c-2d3e4f5a6b7c", ObjectID: "c0ffee00-2222-4a2b-8c3d-000000000002",
			Email: "sean.obrien@demo.crmbot.dev", FirstName: "Seán", LastName: "O'Brien",
			Title: "Support Engineer", Role: "support", BusinessUnitID: BusinessUnitID},
		{ID: "3b0d7c5a-4e6f-4081-8c2d-3e4f5a6b7c8d", ObjectID: "c0ffee00-3333-4a2b-8c3d-000000000003",
			Email: "mathilde.lefevre@demo.crmbot.dev", FirstName: "Mathilde", LastName: "Lefèvre",
			Title: "Sales Manager", Role: "manager", BusinessUnitID: BusinessUnitID},
		{ID: "4c1e8d6b-5f70-4192-9d3e-4f5a6b7c8d9e", ObjectID: "c0ffee00-4444-4a2b-8c3d-000000000004",
			Email: "jonas.muller@demo.crmbot.dev", FirstName: "Jonas", LastName: "Müller",
			Title: "Sales Representative", Role: "sales", BusinessUnitID: BusinessUnitID},
	}
}
