module github.com/linkvault/linkvault/sdk/go

go 1.26.0
