//go:build tools

// Package tools records the main packages built from this module, so that
// `go mod tidy` keeps every dependency they need in go.mod and go.sum.
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
