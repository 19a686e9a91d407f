//go:build tools

// Package tools pins elastic-package for the project bootstrap.
package tools

import _ "github.com/elastic/elastic-package"
