package verify

import "go.uber.org/zap"

func zapGroup(g string) zap.Field  { return zap.String("group", g) }
func zapMember(m string) zap.Field { return zap.String("member", m) }
