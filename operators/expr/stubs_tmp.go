package expr

func registerNumeric(r *Registry)  {}
func registerStrings(r *Registry)  {}
func registerDatetime(r *Registry) {}
