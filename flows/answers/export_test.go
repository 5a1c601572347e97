package answers

// MessageLink is messageLink, for the tests.
var MessageLink = messageLink
