package models

import (
	"encoding/base64"
	"strconv"
)

// appendBase64String appends data as a quoted standard base64 string.
func appendBase64String(dst []byte, data []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, data)
	return append(dst, '"')
}

// appendInt appends a JSON integer.
func appendInt(dst []byte, n int) []byte {
	return strconv.AppendInt(dst, int64(n), 10)
}
