// Gets a token from the token service with golang.org/x/oauth2/clientcredentials (what falcoctl and
// other Go clients use), for interop-go.test.ts. Built offline against Debian's
// golang-golang-x-oauth2-dev in GOPATH mode.
//
//	clientcredentials header|params|auto    settings in the environment: TOKEN_URL, CLIENT_ID,
//	                                         CLIENT_SECRET, SCOPE, AUDIENCE (optional)
//
// Prints one JSON object: the token's fields, or {"error": ...} (exit 3).
package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

var styles = map[string]oauth2.AuthStyle{
	"header": oauth2.AuthStyleInHeader,
	"params": oauth2.AuthStyleInParams,
	"auto":   oauth2.AuthStyleAutoDetect,
}

func main() {
	out := json.NewEncoder(os.Stdout)
	style, known := styles[os.Args[1]]
	if !known {
		_ = out.Encode(map[string]string{"error": "unknown auth style " + os.Args[1]})
		os.Exit(2)
	}
	config := clientcredentials.Config{
		ClientID:     os.Getenv("CLIENT_ID"),
		ClientSecret: os.Getenv("CLIENT_SECRET"),
		TokenURL:     os.Getenv("TOKEN_URL"),
		Scopes:       strings.Fields(os.Getenv("SCOPE")),
		AuthStyle:    style,
	}
	if audience := os.Getenv("AUDIENCE"); audience != "" {
		config.EndpointParams = map[string][]string{"audience": {audience}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	token, err := config.Token(ctx)
	if err != nil {
		_ = out.Encode(map[string]string{"error": err.Error()})
		os.Exit(3)
	}
	_ = out.Encode(map[string]interface{}{
		"access_token":       token.AccessToken,
		"token_type":         token.TokenType,
		"scope":              token.Extra("scope"),
		"expires_in_seconds": int(time.Until(token.Expiry).Round(time.Minute).Seconds()),
	})
}
