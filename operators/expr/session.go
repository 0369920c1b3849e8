package expr

import "github.com/kdaproject/kda/sql/types"

// registerSession adds the session values of KDA-SQL.md §4 "Expression
// grammar extras", written without parentheses in SQL (the dialect calls
// them): CURRENT_PATH and SYSTEM_USER. kda has no schemas, SQL path or
// database users, so both are constants: CURRENT_PATH is the empty
// string and SYSTEM_USER is 'kda'.
func registerSession(r *Registry) {
	constant := func(name, value, doc string) {
		r.add(name, name+" -> VARCHAR(128)", "session", doc, func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 0, 0); err != nil {
				return nil, err
			}
			return Lit(value, types.Type{Kind: types.Varchar, Length: 128, NotNull: true})
		})
	}
	constant("CURRENT_PATH", "", "the SQL path: empty, kda has no schemas")
	constant("SYSTEM_USER", "kda", "the user the engine runs queries as: always 'kda'")
}
