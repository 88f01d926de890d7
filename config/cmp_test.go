package config

import "github.com/google/go-cmp/cmp/cmpopts"

// ignoreIndex leaves out of comparisons what Parse adds to a Config beyond its
// values: the index of its hosts.
var ignoreIndex = cmpopts.IgnoreUnexported(Config{})
