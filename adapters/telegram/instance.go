package telegram

import (
	"fmt"
	"os"
)

func instanceName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", h, os.Getpid())
}
