module github.com/medic-sre/medic/schemas

go 1.26.0
