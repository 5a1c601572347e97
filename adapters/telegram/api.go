package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/qunbot/qunbot/bot"
)

// API is the one call qunbot makes through telegram-bot-api/v5: a Bot API
// method with form parameters. The library's last release is from 2022;
// keeping it behind this seam lets a maintained fork, or plain net/http,
// replace it in one place.
type API interface {
	MakeRequest(method string, params tgbotapi.Params) (*tgbotapi.APIResponse, error)
}

// Uploader is an API that also uploads files (multipart/form-data), as
// tgbotapi.BotAPI does; without it pictures qunbot made are not sent.
type Uploader interface {
	UploadFiles(endpoint string, params tgbotapi.Params, files []tgbotapi.RequestFile) (*tgbotapi.APIResponse, error)
}

// APIError is a Bot API error with the method and chat it concerned.
type APIError struct {
	Method string
	Chat   string
	Code   int
	Desc   string
	// MigrateTo is the supergroup a group became (400 with migrate_to_chat_id).
	MigrateTo int64
}

func (e *APIError) Error() string {
	return fmt.Sprintf("telegram %s (chat %s): %d %s", e.Method, e.Chat, e.Code, e.Desc)
}

// call runs a method and decodes its result into out (may be nil). Errors
// are mapped for the outbox: 429 → *bot.RetryAfterError, 5xx and network
// failures → bot.ErrTemporary, a DM the member never allowed →
// bot.ErrUnreachable; everything else is permanent.
func (a *Adapter) call(ctx context.Context, method, chat string, p tgbotapi.Params, out any) error {
	return a.request(ctx, method, chat, func() (*tgbotapi.APIResponse, error) { return a.api.MakeRequest(method, p) }, out)
}

// upload is call with files (multipart/form-data).
func (a *Adapter) upload(ctx context.Context, method, chat string, p tgbotapi.Params, files []tgbotapi.RequestFile, out any) error {
	up, ok := a.api.(Uploader)
	if !ok {
		return fmt.Errorf("telegram %s: this API client cannot upload files: %w", method, bot.ErrUnsupported)
	}
	return a.request(ctx, method, chat, func() (*tgbotapi.APIResponse, error) { return up.UploadFiles(method, p, files) }, out)
}

func (a *Adapter) request(ctx context.Context, method, chat string, send func() (*tgbotapi.APIResponse, error), out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// telegram-bot-api/v5 takes no context: the call runs on its own and
	// is abandoned, not waited for, when ctx ends — a stopping process
	// must not sit in a 30s long poll while it still holds the lease
	type answer struct {
		resp *tgbotapi.APIResponse
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := send()
		done <- answer{resp, err}
	}()
	var resp *tgbotapi.APIResponse
	var err error
	select {
	case <-ctx.Done():
		return ctx.Err()
	case ans := <-done:
		resp, err = ans.resp, ans.err
	}
	if err != nil {
		return a.mapError(method, chat, resp, err)
	}
	if out != nil && resp != nil && len(resp.Result) > 0 {
		if err := json.Unmarshal(resp.Result, out); err != nil {
			return fmt.Errorf("telegram %s: decode result: %w", method, err)
		}
	}
	return nil
}

func (a *Adapter) mapError(method, chat string, resp *tgbotapi.APIResponse, err error) error {
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		// No Bot API answer: the network, or a proxy's non-JSON 502 page.
		// The request URL carries the token, and net/http puts the URL in
		// its errors: only a redacted text leaves this function.
		msg := strings.ReplaceAll(err.Error(), a.cfg.Token.Reveal(), "<token>")
		return fmt.Errorf("telegram %s (chat %s): %s: %w", method, chat, msg, bot.ErrTemporary)
	}
	ae := &APIError{Method: method, Chat: chat, Code: te.Code, Desc: te.Message, MigrateTo: te.MigrateToChatID}
	desc := strings.ToLower(te.Message)
	switch {
	case te.Code == 429:
		after := time.Duration(te.RetryAfter) * time.Second
		if after <= 0 {
			after = time.Second
		}
		// Telegram does not say whether a flood wait is per chat or for
		// the whole bot; calls without a chat pause everything.
		return fmt.Errorf("%w: %w", ae, &bot.RetryAfterError{After: after, Global: chat == ""})
	case te.Code >= 500:
		return fmt.Errorf("%w: %w", ae, bot.ErrTemporary)
	case te.Code == 403 && (strings.Contains(desc, "can't initiate conversation") || strings.Contains(desc, "bot was blocked by the user") ||
		strings.Contains(desc, "user is deactivated")):
		return fmt.Errorf("%w: %w", ae, bot.ErrUnreachable)
	case te.Code == 403 && (strings.Contains(desc, "bot was kicked") || strings.Contains(desc, "bot is not a member")) ||
		te.Code == 400 && strings.Contains(desc, "chat not found"):
		a.markInactive(chat, te.Message)
		return fmt.Errorf("%w: %w", ae, ErrInactive)
	case (te.Code == 400 || te.Code == 403) && lacksRight(te.Message):
		a.markLacking(chat, method, te.Message)
		return ae
	case te.MigrateToChatID != 0:
		a.migrated(chat, te.MigrateToChatID)
		return ae
	}
	return ae
}

// ErrInactive is returned for chats the bot was removed from.
var ErrInactive = errors.New("the bot is not in this group")
