// Tools of the llm-identities example: the only tool publishes the accepted text.
export const tools = {
  publish: ({ product, text, score }) => ({
    url: `https://shop.example/${encodeURIComponent(product.toLowerCase().replace(/\s+/g, '-'))}`,
    chars: text.length,
    score,
  }),
};
