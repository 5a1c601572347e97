package engine_test

import "github.com/redis/go-redis/v9"

type redisClient = redis.UniversalClient
