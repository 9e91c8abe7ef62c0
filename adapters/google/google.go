// Package google is the adapter for Google Calendar (API v3) and Google
// Contacts (People API v1).
package google
