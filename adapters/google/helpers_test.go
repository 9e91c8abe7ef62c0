package google

import (
	"errors"
	"os"
)

func errorsIs(err, target error) bool      { return errors.Is(err, target) }
func errorsAs(err error, target any) bool  { return errors.As(err, target) }
func osStat(p string) (os.FileInfo, error) { return os.Stat(p) }
