package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/payments"
)

// customerIn is the body of POST /v1/customers.
type customerIn struct {
	Email       string            `json:"email,omitempty"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// createCustomer is POST /v1/customers.
func (a *API) createCustomer(c echo.Context) error {
	var in customerIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	cu, err := a.d.Payments.CreateCustomer(c.Request().Context(), caller(c), gateway.CustomerRequest{Email: in.Email, Name: in.Name,
		Description: in.Description, Metadata: in.Metadata}, gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusCreated, map[string]any{"id": cu.ID, "object": "customer", "created": cu.Created.Unix()})
}

// attachIn is the body of POST /v1/customers/{id}/payment-methods.
type attachIn struct {
	Token string `json:"token"`
}

// attachPaymentMethod is POST /v1/customers/{id}/payment-methods: keep a token with a
// customer for later charges.
func (a *API) attachPaymentMethod(c echo.Context) error {
	id := c.Param("id")
	if err := payments.CheckCustomerID(id); err != nil {
		return err
	}
	var in attachIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	pm, err := a.d.Payments.AttachPaymentMethod(c.Request().Context(), caller(c), id, in.Token, gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusCreated, map[string]any{"id": pm.ID, "object": "payment_method", "customer": id,
		"brand": pm.Brand, "last4": pm.Last4, "exp_month": pm.ExpMonth, "exp_year": pm.ExpYear})
}

// eraseCustomer is DELETE /v1/customers/{id}: payments.Service.Erase, answered with its
// receipt.
func (a *API) eraseCustomer(c echo.Context) error {
	rc, err := a.d.Payments.Erase(c.Request().Context(), caller(c), c.Param("id"), gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusOK, rc)
}
