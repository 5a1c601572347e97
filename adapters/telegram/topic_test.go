package telegram

import "testing"

func TestTopicOf(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"plain group message", `{"update_id":1,"message":{"message_id":5,"chat":{"id":-100,"type":"supergroup"},"text":"hi"}}`, ""},
		{"in a topic", `{"update_id":1,"message":{"message_id":5,"message_thread_id":77,"is_topic_message":true,"text":"hi"}}`, "77"},
		{"General topic: a thread id, not a topic", `{"update_id":1,"message":{"message_id":5,"message_thread_id":3,"is_topic_message":false,"text":"hi"}}`, ""},
		{"a reply thread outside forums", `{"update_id":1,"message":{"message_id":5,"message_thread_id":3,"text":"hi"}}`, ""},
		{"edited, in a topic", `{"update_id":1,"edited_message":{"message_id":5,"message_thread_id":9,"is_topic_message":true}}`, "9"},
		{"a press on a message in a topic", `{"update_id":1,"callback_query":{"id":"c","message":{"message_id":5,"message_thread_id":12,"is_topic_message":true}}}`, "12"},
		{"malformed", `{"update_id":1,"message":{"is_topic_message":"yes"`, ""},
		{"no update", ``, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := topicOf([]byte(tc.raw)); got != tc.want {
				t.Errorf("topicOf = %q, want %q", got, tc.want)
			}
		})
	}
}
