// Package cache wraps an adapter with a size-bounded cache of translated
// objects, collapses concurrent identical upstream calls, and synthesises
// CTags and sync tokens for adapters that have none.
package cache
