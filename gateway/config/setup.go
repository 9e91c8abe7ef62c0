package config

import (
	"fmt"
	"path/filepath"

	"github.com/davgate/davgate/adapters"
)

// Setup is what Build hands the adapter instance behind one user's source,
// for commands that act on that instance outside the gateway (davgate auth).
type Setup struct {
	// Source is the source as configured.
	Source Source
	// Instance is the instance name Build gives it (logs, metrics, state).
	Instance string
	// Options decodes the source's options strictly, as Build does.
	Options adapters.Options
	// StateDir is the instance's durable state directory, as Build sets
	// adapters.Env.StateDir: state_dir/<instance>, or "" without state_dir.
	StateDir string
	// Reauth is the command that re-authorises the instance, as Build
	// sets adapters.Env.Reauth.
	Reauth string
}

// SourceSetup finds user's source in cfg and returns what Build would hand
// its adapter instance. cfg should be valid (Validate); instance names and
// state directories follow Build's rules exactly, including sharing: a
// source whose type and options equal an earlier source's gets that
// instance's name and directory.
func SourceSetup(cfg *Config, user, source string) (Setup, error) {
	plan, err := planInstances(cfg)
	if err != nil {
		return Setup{}, err
	}
	for i, u := range cfg.Users {
		if u.Name != user {
			continue
		}
		for j, s := range u.Sources {
			if s.Name != source {
				continue
			}
			p := plan[[2]int{i, j}]
			return Setup{
				Source:   s,
				Instance: p.name,
				Options:  nodeOptions{node: &cfg.Users[i].Sources[j].Options},
				StateDir: cfg.stateDir(p.name),
				Reauth:   p.reauth,
			}, nil
		}
		return Setup{}, fmt.Errorf("user %q has no source %q in %s", user, source, cfg.File)
	}
	return Setup{}, fmt.Errorf("no user %q in %s", user, cfg.File)
}

type planned struct {
	name   string
	reauth string
}

// planInstances assigns every (user index, source index) its instance
// name, as Build does: the first source with a given type+options names
// the instance, "user/source" when that name is taken.
func planInstances(cfg *Config) (map[[2]int]planned, error) {
	out := map[[2]int]planned{}
	byKey := map[string]planned{}
	names := map[string]bool{}
	for i, u := range cfg.Users {
		for j, s := range u.Sources {
			key, err := canonicalKey(s.Type, &cfg.Users[i].Sources[j].Options)
			if err != nil {
				return nil, cfg.errorf(fmt.Sprintf("users[%d].sources[%d].options", i, j), "source %q of user %q: %v", s.Name, u.Name, err)
			}
			p, ok := byKey[key]
			if !ok {
				p.name = s.Name
				if names[p.name] {
					p.name = u.Name + "/" + s.Name
				}
				names[p.name] = true
				p.reauth = reauthCommand(cfg, s.Type, u.Name, s.Name)
				byKey[key] = p
			}
			out[[2]int{i, j}] = p
		}
	}
	return out, nil
}

// stateDir is the state directory of instance name, or "".
func (c *Config) stateDir(name string) string {
	if c.StateDir == "" {
		return ""
	}
	return filepath.Join(c.StateDir, filepath.FromSlash(name))
}

// reauthCommand is the davgate command that (re-)authorises a source.
func reauthCommand(cfg *Config, typ, user, source string) string {
	file := cfg.File
	if abs, err := filepath.Abs(file); err == nil && file != "" {
		file = abs
	}
	return fmt.Sprintf("davgate auth %s -config %s -user %s -source %s", typ, file, user, source)
}
