package httpapi

// The generator is pinned by the version in this go:generate line rather
// than a tool directive in go.mod: a tool directive would add the
// generator's whole dependency tree (YAML, template and Go-tools modules)
// to the module graph every embedder resolves, and go.mod is shared by
// every package of the module. `go run pkg@version` fetches exactly
// v2.8.2 from the module proxy, verified by the checksum database, and
// .ci/run regenerates and fails on any diff.
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml openapi.yaml
