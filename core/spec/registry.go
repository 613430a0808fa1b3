package spec

import "sort"

// all holds every endpoint, sorted by ID; built once at start-up.
var all = func() []*Endpoint {
	var eps []*Endpoint
	eps = append(eps, payneteasyEndpoints()...)
	eps = append(eps, smartsEndpoints()...)
	eps = append(eps, voyadoEndpoints()...)
	sort.Slice(eps, func(i, j int) bool { return eps[i].ID < eps[j].ID })
	return eps
}()

var byID = func() map[string]*Endpoint {
	m := make(map[string]*Endpoint, len(all))
	for _, e := range all {
		if m[e.ID] != nil {
			panic("spec: duplicate endpoint id " + e.ID)
		}
		m[e.ID] = e
	}
	return m
}()

// All returns every endpoint, sorted by ID. The slice and the endpoints are
// shared: do not modify them.
func All() []*Endpoint { return all }

// Lookup returns the endpoint with the given ID, or nil.
func Lookup(id string) *Endpoint { return byID[id] }
