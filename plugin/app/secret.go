package app

import (
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// Secret resolves a secret from configuration. The configured text must be
// a placeholder, {env.NAME} or {file.PATH}, so that secrets never sit in a
// Caddyfile, in `caddy adapt` output or in the admin API's config dump. It
// is resolved once, at provision; a missing or empty value is a config
// error. Error messages name the subdirective and the placeholder, never
// the value.
func Secret(subdirective, configured string) (string, error) {
	configured = strings.TrimSpace(configured)
	if configured == "" {
		return "", fmt.Errorf("%s: missing (use {env.NAME} or {file.PATH})", subdirective)
	}
	if !isSecretPlaceholder(configured) {
		return "", fmt.Errorf("%s: a secret must come from {env.NAME} or {file.PATH}, not be written in the config", subdirective)
	}
	v := caddy.NewReplacer().ReplaceKnown(configured, "")
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%s: %s is not set or empty", subdirective, configured)
	}
	return v, nil
}

func isSecretPlaceholder(s string) bool {
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") || strings.Count(s, "{") != 1 {
		return false
	}
	return strings.HasPrefix(s, "{env.") || strings.HasPrefix(s, "{file.")
}

// Secrets resolves several secrets of one subdirective (for rotation: any
// of them is accepted).
func Secrets(subdirective string, configured []string) ([]string, error) {
	if len(configured) == 0 {
		return nil, fmt.Errorf("%s: missing (use {env.NAME} or {file.PATH})", subdirective)
	}
	out := make([]string, 0, len(configured))
	for _, c := range configured {
		v, err := Secret(subdirective, c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
