package hfdataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Environment variables that carry the Hub token.
const (
	// EnvToken holds the token itself (local runs).
	EnvToken = "HF_TOKEN"
	// EnvTokenSecretARN names a Secrets Manager secret holding the token
	// (deployed Lambdas), read when EnvToken is not set.
	EnvTokenSecretARN = "HF_TOKEN_SECRET_ARN"
)

// tokenSecretShape tells users how to store the token; every error about a
// secret's content ends with it.
const tokenSecretShape = `store the token as the plain secret string, or as a JSON object {"HF_TOKEN":"hf_..."} (key "token" also accepted)`

// SecretsAPI is the part of the Secrets Manager client TokenFromSecret
// uses; *secretsmanager.Client implements it.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// TokenFromSecret reads a Hugging Face token from the Secrets Manager
// secret secretARN (its current version). The secret string is either the
// token itself or a JSON object with the token under "HF_TOKEN" or
// "token". Errors name the secret and the expected shape; they never
// contain the secret's value.
func TokenFromSecret(ctx context.Context, api SecretsAPI, secretARN string) (string, error) {
	if secretARN == "" {
		return "", errors.New("hugging face token secret: no secret ARN given: set " + EnvTokenSecretARN + " or unset it")
	}
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretARN})
	if err != nil {
		return "", fmt.Errorf("hugging face token secret %s: read: %w (check that the secret exists and the Lambda role may secretsmanager:GetSecretValue on it)", secretARN, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("hugging face token secret %s: has no secret string (a binary secret?): %s", secretARN, tokenSecretShape)
	}
	token, err := parseToken(*out.SecretString)
	if err != nil {
		return "", fmt.Errorf("hugging face token secret %s: %v: %s", secretARN, err, tokenSecretShape)
	}
	return token, nil
}

// parseToken extracts the token from a secret string. Its errors describe
// the shape found, never the content.
func parseToken(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("the secret string is empty")
	}
	if s[0] == '{' {
		var obj map[string]any
		// The decoder's error is dropped: it may quote a byte of the secret.
		if json.Unmarshal([]byte(s), &obj) != nil {
			return "", errors.New("the secret string starts with { but is not a JSON object")
		}
		var found bool
		for _, key := range []string{"HF_TOKEN", "token"} {
			v, ok := obj[key]
			if !ok {
				continue
			}
			found = true
			str, ok := v.(string)
			if !ok {
				return "", fmt.Errorf("JSON key %q is a %s, not a string", key, jsonKind(v))
			}
			if str = strings.TrimSpace(str); str != "" {
				return checkToken(str, fmt.Sprintf("JSON key %q", key))
			}
		}
		if found {
			return "", errors.New("the JSON object's HF_TOKEN/token value is empty")
		}
		return "", fmt.Errorf("the JSON object has %d keys but neither \"HF_TOKEN\" nor \"token\"", len(obj))
	}
	return checkToken(s, "the secret string")
}

// checkToken accepts the bearer token characters of RFC 6750 (b64token),
// which every Hub token uses; anything else (quotes, spaces, line breaks)
// would be a mangled secret and break the Authorization header.
func checkToken(tok, where string) (string, error) {
	body := strings.TrimRight(tok, "=")
	if body == "" {
		return "", fmt.Errorf("%s is not a token", where)
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return "", fmt.Errorf("%s has a character at byte %d that no token has (only letters, digits and - . _ ~ + / =)", where, i)
		}
	}
	return tok, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// WithSecretToken returns getenv itself unless EnvTokenSecretARN is set and
// EnvToken is not; then it reads the token once through TokenFromSecret and
// returns a getenv that answers EnvToken with it, so FromEnv picks it up.
func WithSecretToken(ctx context.Context, api SecretsAPI, getenv func(string) string) (func(string) string, error) {
	arn := strings.TrimSpace(getenv(EnvTokenSecretARN))
	if arn == "" || getenv(EnvToken) != "" {
		return getenv, nil
	}
	token, err := TokenFromSecret(ctx, api, arn)
	if err != nil {
		return nil, err
	}
	return func(key string) string {
		if key == EnvToken {
			return token
		}
		return getenv(key)
	}, nil
}
