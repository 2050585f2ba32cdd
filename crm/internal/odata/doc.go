// Package odata speaks the OData v4 query options Dataverse understands, in
// both directions.
//
// The build side ([String], [Guid], [Literal], the [Filter] builder and
// [QueryString]) is used by the Dataverse client so every literal that reaches
// a URL is escaped the way Dataverse expects: there is no other sanctioned way
// to put a user's text into a $filter.
//
// The parse side ([ParseQuery], [ParseFilter], [Expr.Eval], [Compare]) is used
// by the Dataverse sandbox to accept what Dataverse accepts, reject what it
// rejects with Dataverse-like [*Error] values, and evaluate filters over
// in-memory records.
//
// Semantics chosen where Dataverse is not a pure OData server (see the tests
// for each one):
//
//   - Strings compare as the default Dataverse collation (Latin1_General_CI_AI)
//     does: case- and accent-insensitively, trailing spaces ignored. Ordering
//     approximates the collation by comparing folded code points.
//   - contains, startswith and endswith are T-SQL LIKE patterns in Dataverse:
//     % _ [set] [^set] are wildcards in the argument. The builder escapes them
//     ([Contains] searches for the caller's text literally); the evaluator
//     honours them.
//   - null: "x eq null" matches a missing or nil value and "x ne null" any
//     other. A null value never satisfies gt/ge/lt/le or the string functions,
//     but it DOES satisfy "x ne 'a'": Dataverse turns ne into a FetchXML ne
//     condition, which returns rows where the column is null (unlike SQL's
//     <>). "not" is plain Boolean negation, so "not (x eq 'a')" and
//     "x ne 'a'" always agree.
package odata
