module github.com/medic-sre/medic/services/simulator

go 1.26.0

require github.com/medic-sre/medic/pkg v0.0.0

replace github.com/medic-sre/medic/pkg => ../../pkg

replace github.com/medic-sre/medic/schemas => ../../schemas
