//go:build tools

// Package tools pins package-registry for the project bootstrap.
package tools

import _ "github.com/elastic/package-registry"
