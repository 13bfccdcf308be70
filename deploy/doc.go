// Package deploy holds the deployment manifests' tests.
package deploy
