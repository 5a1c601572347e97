package wecom

import (
	"context"
	"fmt"
)

// Member tags are kept in step with the corp's customer tags (企业客户标签,
// externalcontact/get_corp_tag_list, add_corp_tag, mark_tag), in the tag
// group contact.tag_group: a tag qunbot sets on a customer is set there
// too, so the operator sees it in the WeCom console, and removed with it.
// WeCom marks a tag through a staff member who has the customer as a
// contact: the group's owner, else contact.sender; a customer who is no
// one's contact (errcode 84061) cannot be tagged there.

type corpTag struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type tagGroup struct {
	GroupID   string    `json:"group_id"`
	GroupName string    `json:"group_name"`
	Tag       []corpTag `json:"tag"`
}

// tagID finds (or makes) a tag of the configured group by name.
func (a *Adapter) tagID(ctx context.Context, name string) (string, error) {
	a.tagMu.Lock()
	id, ok := a.tagIDs[name]
	a.tagMu.Unlock()
	if ok {
		return id, nil
	}
	var list struct {
		TagGroup []tagGroup `json:"tag_group"`
	}
	if err := a.contact.call(ctx, "/cgi-bin/externalcontact/get_corp_tag_list", map[string]any{}, &list); err != nil {
		return "", fmt.Errorf("read the corp's customer tags: %w", err)
	}
	groupID := ""
	a.tagMu.Lock()
	if a.tagIDs == nil {
		a.tagIDs = map[string]string{}
	}
	for _, g := range list.TagGroup {
		if g.GroupName != a.cfg.Contact.TagGroup {
			continue
		}
		groupID = g.GroupID
		for _, t := range g.Tag {
			a.tagIDs[t.Name] = t.ID
		}
	}
	id, ok = a.tagIDs[name]
	a.tagMu.Unlock()
	if ok {
		return id, nil
	}
	// a new tag, in the group (which WeCom makes with it when missing)
	req := map[string]any{"group_name": a.cfg.Contact.TagGroup, "tag": []map[string]any{{"name": name}}}
	if groupID != "" {
		req["group_id"] = groupID
	}
	var made struct {
		TagGroup tagGroup `json:"tag_group"`
	}
	if err := a.contact.call(ctx, "/cgi-bin/externalcontact/add_corp_tag", req, &made); err != nil {
		return "", fmt.Errorf("make the customer tag %q: %w", name, err)
	}
	for _, t := range made.TagGroup.Tag {
		if t.Name == name {
			a.tagMu.Lock()
			a.tagIDs[name] = t.ID
			a.tagMu.Unlock()
			return t.ID, nil
		}
	}
	return "", fmt.Errorf("make the customer tag %q: WeCom answered no id", name)
}

// markTag sets or removes a customer's tag in WeCom.
func (a *Adapter) markTag(ctx context.Context, chat, customer, name string, add bool) error {
	id, err := a.tagID(ctx, name)
	if err != nil {
		return err
	}
	staff := a.cfg.Contact.Sender
	if f, err := a.opt.Store.GroupFields(ctx, chat); err == nil && f["owner"] != "" {
		staff = f["owner"]
	}
	if staff == "" {
		return fmt.Errorf("tag %q on %s: no staff to mark it through (set contact.sender)", name, customer)
	}
	req := map[string]any{"userid": staff, "external_userid": customer}
	if add {
		req["add_tag"] = []string{id}
	} else {
		req["remove_tag"] = []string{id}
	}
	if err := a.contact.call(ctx, "/cgi-bin/externalcontact/mark_tag", req, nil); err != nil {
		return fmt.Errorf("mark the customer tag %q on %s: %w", name, customer, err)
	}
	return nil
}
