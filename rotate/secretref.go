package rotate

import "github.com/respond-dev/respond/ram/accesskey"

// ReadSecretRef reads a secret the configuration names, never holds: the environment variable
// env (through getenv) when it is set, else the file (trimmed). An unset or empty variable is an
// error.
func ReadSecretRef(getenv func(string) string, env, file string) (accesskey.Secret, error) {
	return readSecretRef(getenv, env, file)
}
