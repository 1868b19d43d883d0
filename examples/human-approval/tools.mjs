// Tools of the human-approval example. In a real deployment notify_manager would send an email or a
// chat message with a link that calls the signal function (soe send on the command line).
export const tools = {
  notify_manager: ({ employee, amount, assessment }) => ({
    to: 'manager@example.com',
    subject: `Approve ${amount} EUR for ${employee}?`,
    assessment,
    requested_at: new Date().toISOString(),
  }),
  pay_expense: ({ employee, amount }) => ({ employee, amount, transfer_id: `TR-${Math.round(amount * 100)}`, status: 'scheduled' }),
  notify_employee: ({ employee, message }) => ({ to: `${employee.toLowerCase()}@example.com`, message }),
};
