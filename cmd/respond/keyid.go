package main

import (
	"errors"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
)

// parseKeyID parses one --key-id value. Its error never repeats the value (accesskey.NotAnID).
func parseKeyID(s string) (accesskey.ID, error) {
	id, err := accesskey.ParseID(s)
	if err != nil {
		return id, flagErrorf("--key-id: %s", accesskey.NotAnID(s))
	}
	return id, nil
}

// parseKeyIDs parses the main command's --key-id values (detect.ParseIDs), with parseKeyID's error.
func parseKeyIDs(values []string) ([]accesskey.ID, error) {
	ids, err := detect.ParseIDs(values)
	var bad *detect.BadIDError
	if errors.As(err, &bad) {
		return nil, flagErrorf("--key-id: %s", accesskey.NotAnID(bad.Value))
	}
	return ids, err
}
