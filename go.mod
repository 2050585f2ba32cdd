module github.com/crmbot/crmbot

go 1.26.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/prometheus/client_golang v1.23.2 // indirect
	golang.org/x/oauth2 v0.34.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
